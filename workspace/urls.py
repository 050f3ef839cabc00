from django.contrib import admin
from django.urls import include, path

from callbacks.api import api
from callbacks.views import workspace as views

urlpatterns = [
    path("", views.workspace, name="workspace"),
    path("workspace/regions/", views.regions, name="regions"),
    path("status/", views.set_status, name="set_status"),
    path("offers/<int:offer_id>/accept/", views.accept_offer, name="accept_offer"),
    path("offers/<int:offer_id>/reject/", views.reject_offer, name="reject_offer"),
    path("interactions/<int:interaction_id>/done/", views.mark_done, name="mark_done"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("healthz", views.healthz, name="healthz"),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("sim/", include("callbacks.telephony.simulator.urls")),
]
