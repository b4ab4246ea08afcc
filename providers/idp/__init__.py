"""The lab's OpenID Connect identity provider (``python -m providers.idp``).

Signs in the ``login_hint`` user without a form, then behaves like any OIDC provider:
authorization code with PKCE, client authentication, RS256 id_tokens, a JWKS.
"""

from providers.idp.app import create_app
from providers.idp.config import Client, IdpConfig

__all__ = ["Client", "IdpConfig", "create_app"]
