from oauth2_provider.oauth2_validators import OAuth2Validator


class ClaimsValidator(OAuth2Validator):
    """The ID token and userinfo carry the user's name, e-mail, groups and (when set) queues."""

    oidc_claim_scope = OAuth2Validator.oidc_claim_scope | {"groups": "openid", "queues": "openid"}

    def get_additional_claims(self, request):
        user = request.user
        claims = getattr(user, "claims", None)
        extra = {
            "preferred_username": user.username,
            "name": user.get_full_name() or user.username,
            "email": user.email,
            "groups": claims.groups if claims else [],
        }
        if claims is not None and claims.queues is not None:
            extra["queues"] = claims.queues
        return extra
