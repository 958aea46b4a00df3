from django.urls import path

from dashboard.views import overview, pending, program
from dashboard.views import public as public_views

# Route names are the contract between pages (navigation, links, tests).
urlpatterns = [
    path("", public_views.program_home, name="program-home"),
    path("dashboard/", overview.home, name="dashboard"),
    path("dashboard/referrals/", pending.not_built, name="dashboard-referrals"),
    path("dashboard/referrals/<int:pk>/", pending.not_built, name="dashboard-referral"),
    path("dashboard/commissions/", pending.not_built, name="dashboard-commissions"),
    path("dashboard/commissions.csv", pending.not_built, name="dashboard-commissions-csv"),
    path("dashboard/payouts/", pending.not_built, name="dashboard-payouts"),
    path("dashboard/payouts.csv", pending.not_built, name="dashboard-payouts-csv"),
    path("dashboard/links/", pending.not_built, name="dashboard-links"),
    path("dashboard/creatives/", pending.not_built, name="dashboard-creatives"),
    path("dashboard/program/", program.program, name="dashboard-program"),
    path(
        "dashboard/program/<slug:table>.csv",
        pending.not_built,
        name="dashboard-program-csv",
    ),
]
