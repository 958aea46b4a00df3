"""Server-rendered forms. Rules live in services and affiliates.usernames; forms only parse
input and show the services' messages beside the right field."""

from __future__ import annotations

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import PasswordResetForm
from django.template import loader

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


class UsernameField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 64)  # longer input gets the rule's own message
        kwargs.setdefault(
            "help_text",
            f"3–{MAX_LENGTH} characters: a-z, 0-9, - and _. Your links end with it, "
            "e.g. example.com/pricing/yourname.",
        )
        super().__init__(**kwargs)


class SignupForm(forms.Form):
    email = forms.EmailField()
    password1 = forms.CharField(label="Password", widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(label="Password again", widget=forms.PasswordInput, strip=False)

    def clean(self):
        data = super().clean()
        p1, p2 = data.get("password1"), data.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", "The two passwords differ.")
        elif p1:
            try:
                password_validation.validate_password(p1)
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return data


class ApplicationForm(forms.Form):
    username = UsernameField()
    website = forms.URLField(
        required=False, assume_scheme="https", help_text="Your site, channel or profile."
    )
    audience = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="Who follows you?"
    )
    promotion = forms.CharField(
        label="How will you promote us?",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    accept_terms = forms.BooleanField(
        label="I accept the program terms (no paid ads on the brand's links or keywords).",
        required=True,
        error_messages={"required": "You must accept the program terms."},
    )

    def clean_username(self) -> str:
        try:
            return validate_username(self.cleaned_data["username"])
        except ServiceError as exc:
            raise forms.ValidationError(exc.message) from exc


class UsernameChangeForm(forms.Form):
    username = UsernameField(label="New username")

    def __init__(self, *args, affiliate=None, **kwargs):
        self.affiliate = affiliate
        super().__init__(*args, **kwargs)

    def clean_username(self) -> str:
        try:
            return validate_username(self.cleaned_data["username"], affiliate=self.affiliate)
        except ServiceError as exc:
            raise forms.ValidationError(exc.message) from exc


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
        subject = loader.render_to_string(subject_template_name, context)
        body = loader.render_to_string(email_template_name, context)
        send_email_on_commit(to=[to_email], subject=subject, body=body)
