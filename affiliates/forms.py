"""Server-rendered forms. Rules live in services and affiliates.usernames; forms only parse
input and show the services' messages beside the right field."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.forms import PasswordResetForm
from django.template import loader
from django.utils import translation
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from affiliates.usernames import MAX_LENGTH, validate_username
from config.errors import ServiceError
from config.mail import send_email_on_commit


def add_service_error(form: forms.Form, exc: ServiceError) -> None:
    """Show a service's refusal on the form: per field where it names fields, else on top."""
    placed = False
    for field, messages in exc.fields.items():
        for message in messages:
            form.add_error(field if field in form.fields else None, message)
            placed = True
    if not placed:
        form.add_error(None, exc.message)


def _username_help_text() -> str:
    return gettext(
        "3–%(max)d characters: a-z, 0-9, - and _. Your links end with it, "
        "e.g. example.com/pricing/yourname."
    ) % {"max": MAX_LENGTH}


# Lazy: formatted when a page renders, in that page's language (not once at import).
_username_help = lazy(_username_help_text, str)


class UsernameField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 64)  # longer input gets the rule's own message
        kwargs.setdefault("help_text", _username_help())
        super().__init__(**kwargs)


class SignupForm(forms.Form):
    email = forms.EmailField(label=_("E-mail"))
    password1 = forms.CharField(label=_("Password"), widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(label=_("Password again"), widget=forms.PasswordInput, strip=False)

    def clean(self):
        data = super().clean()
        p1, p2 = data.get("password1"), data.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", _("The two passwords differ."))
        elif p1:
            try:
                password_validation.validate_password(p1)
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return data


class ApplicationForm(forms.Form):
    username = UsernameField(label=_("Username"))
    website = forms.URLField(
        label=_("Website"),
        required=False,
        assume_scheme="https",
        help_text=_("Your site, channel or profile."),
    )
    audience = forms.CharField(
        label=_("Audience"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Who follows you?"),
    )
    promotion = forms.CharField(
        label=_("How will you promote us?"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    accept_terms = forms.BooleanField(
        label=_("I accept the program terms (no paid ads on the brand's links or keywords)."),
        required=True,
        error_messages={"required": _("You must accept the program terms.")},
    )

    def clean_username(self) -> str:
        try:
            return validate_username(self.cleaned_data["username"])
        except ServiceError as exc:
            raise forms.ValidationError(exc.message) from exc


class UsernameChangeForm(forms.Form):
    username = UsernameField(label=_("New username"))

    def __init__(self, *args, affiliate=None, **kwargs):
        self.affiliate = affiliate
        super().__init__(*args, **kwargs)

    def clean_username(self) -> str:
        try:
            return validate_username(self.cleaned_data["username"], affiliate=self.affiliate)
        except ServiceError as exc:
            raise forms.ValidationError(exc.message) from exc


class LanguageForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Each language named in itself (settings.LANGUAGES), "" = follow the browser.
        self.fields["language"].choices = [("", _("Same as my browser")), *settings.LANGUAGES]


class EmailPreferencesForm(forms.Form):
    commission_approved = forms.BooleanField(
        label=_("Commissions approved (they passed their hold)"), required=False
    )
    payout_sent = forms.BooleanField(label=_("Payout sent"), required=False)
    monthly_report = forms.BooleanField(
        label=_("Monthly report of clicks, referrals and earnings"), required=False
    )
    commission_digest = forms.BooleanField(
        label=_("Daily digest of new commissions"), required=False
    )


class LeaderboardForm(forms.Form):
    opt_in = forms.BooleanField(
        label=_("Show my username on the prize leaderboard"), required=False
    )


class QueuedPasswordResetForm(PasswordResetForm):
    """Django's reset form, but the e-mail goes through the worker like every other one
    (config.mail): sent inline, an SMTP outage made "forgot password" a 500."""

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ) -> None:
        # In the affiliate's saved language; without one, the language of the page the
        # reset was asked from (the active one).
        affiliate = getattr(context.get("user"), "affiliate", None)
        language = (
            affiliate.email_language if affiliate is not None and affiliate.language else None
        )
        with translation.override(language or translation.get_language()):
            subject = loader.render_to_string(subject_template_name, context)
            body = loader.render_to_string(email_template_name, context)
        send_email_on_commit(to=[to_email], subject=subject, body=body)


class TestimonialForm(forms.Form):
    """The affiliate's testimonial (dashboard). The service judges it (length, the
    website's scheme); this form only shapes the page."""

    text = forms.CharField(
        label=_("Your testimonial"),
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_(
            "Markdown: *emphasis*, **bold**, [links](https://example.com). No images or HTML."
        ),
    )
    website = forms.CharField(
        label=_("Your website (optional)"),
        required=False,
        widget=forms.URLInput(attrs={"inputmode": "url", "placeholder": "https://"}),
    )
