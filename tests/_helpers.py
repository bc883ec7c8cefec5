"""Helpers two test files share: the credentials a hub proxy forwards, and the check that none shows."""

SECRETS = {
    "hub_cookie": "c00kieHUBvalue",
    "session": "sessIONvalue",
    "xsrf": "xsrfVALUE123",
    "api_token": "apiTOKEN456",
    "query_token": "queryTOKEN789",
    "referer_token": "refererTOKEN",
    "jwt": "jwtVALUE",
    "api_key": "apiKEYvalue",
}


def no_secret_in(text: str) -> None:
    for name, secret in SECRETS.items():
        assert secret not in text, name
