"""Login and logout pages. Django's views rotate the session at login; logout is POST only;
django-axes locks an account after repeated failures and renders `accounts/locked_out.html`."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.http import HttpResponse

from kehu.accounts.forms import LoginForm
from kehu.privacy.actions import do_audit
from kehu.privacy.models import AuditAction


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form: LoginForm) -> HttpResponse:  # type: ignore[override]
        response = super().form_valid(form)
        do_audit(form.get_user(), AuditAction.LOGIN, "user", form.get_user().pk, request=self.request)
        return response


login = LoginView.as_view()
logout = auth_views.LogoutView.as_view()
