"""An affiliate hears of its new rates when a Program manager changes its plan or fixed rate,
or the rates of the plan it earns by, in the real admin change forms."""

import pytest

from config import queue
from config.celery import app
from emails import tasks  # noqa: F401  (registers the tasks the admin queues by name)
from tests.admin_forms import change_form_data
from tests.factories import AffiliateFactory, PlanFactory


@pytest.fixture(autouse=True)
def worker(monkeypatch):
    """Run the e-mail tasks the admin queues here, as a worker would after the commit."""
    names = []

    def run(name, **kwargs):
        names.append(name)
        app.tasks[name].apply(kwargs=kwargs)

    monkeypatch.setattr(queue, "enqueue_on_commit", run)
    return names


@pytest.mark.django_db(transaction=True)
def test_a_new_plan_in_admin_mails_the_affiliate_its_rates(manager_client, mailoutbox):
    plan = PlanFactory(name="Agencies", first_payment_bp=3000, recurring_bp=1250, use_tiers=False)
    affiliate = AffiliateFactory(username="nora")
    url = f"/admin/affiliates/affiliate/{affiliate.pk}/change/"
    data = change_form_data(manager_client.get(url))
    data["plan"] = plan.pk

    response = manager_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    (mail,) = [m for m in mailoutbox if m.to == [affiliate.user.email]]
    assert mail.subject == "Ambassador: your commission rates changed"
    assert 'your affiliate plan is now "Agencies"' in mail.body
    assert "First payment: 30 %" in mail.body and "Recurring payments: 12.5 %" in mail.body


@pytest.mark.django_db(transaction=True)
def test_saving_an_affiliate_without_a_rate_change_mails_nothing(manager_client, mailoutbox):
    affiliate = AffiliateFactory()
    url = f"/admin/affiliates/affiliate/{affiliate.pk}/change/"
    data = change_form_data(manager_client.get(url))
    data["status_note"] = "met at a conference"

    assert manager_client.post(url, data).status_code == 302
    assert mailoutbox == []


@pytest.mark.django_db(transaction=True)
def test_a_plans_new_rate_mails_each_affiliate_on_it_but_not_fixed_rate_ones(
    manager_client, mailoutbox
):
    plan = PlanFactory(name="Agencies", first_payment_bp=3000, use_tiers=False)
    on_plan = AffiliateFactory(plan=plan, language="de")
    AffiliateFactory(plan=plan, commission_override_bp=4000)  # its own rate: unaffected
    AffiliateFactory()  # another plan
    url = f"/admin/affiliates/plan/{plan.pk}/change/"
    data = change_form_data(manager_client.get(url))
    data["first_payment_bp"] = "35"

    response = manager_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert [m.to for m in mailoutbox] == [[on_plan.user.email]]
    assert "35 %" in mailoutbox[0].body
