from django.urls import path

from dashboard.views import leaderboard, ledger, links, overview, program, public

# Route names are the contract between pages (navigation, links, tests).
urlpatterns = [
    path("", public.program_home, name="program-home"),
    path("dashboard/", overview.home, name="dashboard"),
    path("dashboard/referrals/", ledger.referrals, name="dashboard-referrals"),
    path("dashboard/referrals/<int:pk>/", ledger.referral, name="dashboard-referral"),
    path("dashboard/commissions/", ledger.commissions, name="dashboard-commissions"),
    path("dashboard/commissions.csv", ledger.commissions_csv, name="dashboard-commissions-csv"),
    path("dashboard/payouts/", ledger.payouts, name="dashboard-payouts"),
    path("dashboard/payouts.csv", ledger.payouts_csv, name="dashboard-payouts-csv"),
    path("dashboard/links/", links.links, name="dashboard-links"),
    path("dashboard/creatives/", links.creatives, name="dashboard-creatives"),
    path("dashboard/leaderboard/", leaderboard.leaderboard, name="dashboard-leaderboard"),
    path("dashboard/program/", program.program, name="dashboard-program"),
    path(
        "dashboard/program/<slug:table>.csv",
        program.program_csv,
        name="dashboard-program-csv",
    ),
]
