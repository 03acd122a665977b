from __future__ import annotations

from django.urls import URLPattern, path

from workflow.api import aftercare, privacy, reports, views

APPLICATION = "applications/<str:reference>/"

urlpatterns: list[URLPattern] = [
    path("applications/", views.ApplicationCollectionView.as_view(), name="application-list"),
    path(APPLICATION, views.ApplicationDetailView.as_view(), name="application-detail"),
    *(
        path(f"{APPLICATION}transitions/{name}/", view.as_view(), name=f"application-transition-{name}")
        for name, view in views.TRANSITION_VIEWS.items()
    ),
    # Any other name: a 404 with the error shape rather than Django's page.
    path(
        f"{APPLICATION}transitions/<str:name>/",
        views.UnknownTransitionView.as_view(),
        name="application-transition-unknown",
    ),
    path(f"{APPLICATION}history/", views.HistoryView.as_view(), name="application-history"),
    path(f"{APPLICATION}notifications/", views.NotificationsView.as_view(), name="application-notifications"),
    path(
        f"{APPLICATION}documents/<int:document_id>/",
        views.DocumentDownloadView.as_view(),
        name="application-document-download",
    ),
    path(
        f"{APPLICATION}consent-signatures/<int:signature_id>/withdraw/",
        views.ConsentWithdrawView.as_view(),
        name="application-consent-withdraw",
    ),
    path(
        f"{APPLICATION}consent-signatures/<int:signature_id>/scan/",
        views.ConsentScanDownloadView.as_view(),
        name="application-consent-scan-download",
    ),
    path(
        f"{APPLICATION}consent-signatures/<int:signature_id>/pdf/",
        views.ConsentPdfDownloadView.as_view(),
        name="application-consent-pdf-download",
    ),
    path(f"{APPLICATION}messages/", views.MessagesView.as_view(), name="application-messages"),
    path(f"{APPLICATION}assign/", views.AssignView.as_view(), name="application-assign"),
    path(f"{APPLICATION}transfer/", views.TransferView.as_view(), name="application-transfer"),
    path(f"{APPLICATION}quote/accept/", views.QuoteAcceptView.as_view(), name="application-quote-accept"),
    path(f"{APPLICATION}admission/", views.AdmissionView.as_view(), name="application-admission"),
    path(f"{APPLICATION}portal-link/", views.PortalLinkView.as_view(), name="application-portal-link"),
    path(f"{APPLICATION}protocol/", views.ProtocolView.as_view(), name="application-protocol"),
    path(
        f"{APPLICATION}treatment-days/<int:day>/done/",
        views.TreatmentDayDoneView.as_view(),
        name="application-treatment-day-done",
    ),
    path(
        f"{APPLICATION}monitoring/<int:hours>/",
        aftercare.MonitoringOutcomeView.as_view(),
        name="application-monitoring-record",
    ),
    path(
        f"{APPLICATION}reviews/<int:months>/answers/",
        aftercare.PhoneAnswerView.as_view(),
        name="application-review-answer",
    ),
    path(f"{APPLICATION}discharge-date/", aftercare.DischargeDateView.as_view(), name="application-discharge-date"),
    path(f"{APPLICATION}export/", privacy.ExportView.as_view(), name="application-export"),
    path(f"{APPLICATION}erase/", privacy.EraseView.as_view(), name="application-erase"),
    path("reports/sla/", reports.SlaReportView.as_view(), name="report-sla"),
    path("reports/follow-up/", reports.FollowUpReportView.as_view(), name="report-follow-up"),
    path(
        f"{APPLICATION}consent-signatures/",
        views.ConsentSignatureView.as_view(),
        name="application-consent-signatures",
    ),
]
