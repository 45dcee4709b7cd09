"""Who may call what: credentials are checked on every route before anything else.

=================  ===========================================================================
Surface            Accepted credentials
=================  ===========================================================================
versioned          ``api-key: <key>``, or ``Authorization: Bearer <token>`` issued for
                   ``https://cognitiveservices.azure.com/.default``
v1                 the same, and ``Authorization: Bearer <key>``
ARM                ``Authorization: Bearer <token>`` issued for
                   ``https://management.azure.com/.default``
control API        ``api-key: <key>`` or ``Authorization: Bearer <key>``
token endpoint     none (the client secret is the credential)
=================  ===========================================================================

Anything else is a 401 with the body Azure sends on that surface.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from emulator.core.errors import Surface, Unauthorized
from emulator.identity.tokens import TokenIssuer, TokenRejected

__all__ = ["authenticate"]


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def authenticate(
    surface: Surface, headers: Mapping[str, str], *, api_key: str, issuer: TokenIssuer
) -> None:
    """Raise :class:`Unauthorized` unless ``headers`` carry valid credentials for ``surface``."""
    if surface is Surface.IDENTITY:
        return
    key = headers.get("api-key")
    authorization = headers.get("authorization", "")
    scheme, _, credential = authorization.partition(" ")
    bearer = credential.strip() if scheme.lower() == "bearer" else None
    if surface is Surface.ARM:
        if not bearer:
            raise Unauthorized(bearer=True, reason="missing")
        try:
            issuer.verify(bearer, "arm")
        except TokenRejected as rejected:
            raise Unauthorized(bearer=True, reason=rejected.reason) from rejected
        return
    if surface is Surface.CONTROL:
        if (key and _same(key, api_key)) or (bearer and _same(bearer, api_key)):
            return
        raise Unauthorized(bearer=False)
    if key is not None:
        if _same(key, api_key):
            return
        raise Unauthorized(bearer=False)
    if bearer:
        if surface is Surface.V1 and _same(bearer, api_key):
            return
        try:
            issuer.verify(bearer, "data")
        except TokenRejected as rejected:
            raise Unauthorized(bearer=True, reason=rejected.reason) from rejected
        return
    raise Unauthorized(bearer=False, reason="missing")
