from django.urls import path

from . import views

urlpatterns = [
    path("phone/<str:token>/", views.phone, name="sim_phone"),
    path("phone/<str:token>/<str:what>/", views.act, name="sim_phone_act"),
]
