from __future__ import annotations

import problemdetails


def test_public_namespace_is_pinned() -> None:
    assert problemdetails.__all__ == [
        "JSON_MEDIA_TYPE",
        "XML_MEDIA_TYPE",
        "XML_NAMESPACE",
        "Catalog",
        "CatalogError",
        "CatalogInfo",
        "DecodeError",
        "Deprecation",
        "DetailProfile",
        "EnvelopeProfile",
        "ErrorItem",
        "Example",
        "Finding",
        "GoogleProfile",
        "MemberSpec",
        "Problem",
        "ProblemDetailsError",
        "ProblemMiddleware",
        "ProblemSpec",
        "Request",
        "RequestContextFilter",
        "Responder",
        "WSGIProblemMiddleware",
        "WireProfile",
        "__version__",
        "add_problem_components",
        "current_request_id",
        "current_trace_id",
        "decode_json",
        "decode_xml",
        "document_problems",
        "drf_exception_handler",
        "encode_json",
        "encode_xml",
        "install",
        "litestar_exception_handlers",
        "problem_responses",
        "starlette_exception_handlers",
        "status_phrase",
    ]
    for name in problemdetails.__all__:
        assert getattr(problemdetails, name) is not None


def test_private_modules_declare_all() -> None:
    import importlib
    import pkgutil

    for module in pkgutil.iter_modules(problemdetails.__path__):
        if module.name.startswith("_") and module.name != "__main__":
            imported = importlib.import_module(f"problemdetails.{module.name}")
            assert isinstance(imported.__all__, list), module.name


def test_client_namespace_is_pinned() -> None:
    import problemdetails.client

    assert problemdetails.client.__all__ == [
        "DecodeError",
        "ProblemClientInterceptor",
        "Received",
        "RetryPolicy",
        "async_problem_hook",
        "async_problem_interceptors",
        "async_propagation_hook",
        "decode",
        "decode_grpc",
        "parse_retry_after",
        "problem_hook",
        "propagation_hook",
        "raise_for_problem",
    ]


def test_the_client_exports_the_error_decode_raises() -> None:
    """The client docs say `decode` raises `DecodeError`: it is importable from where `decode` is."""
    import pytest

    from problemdetails.client import DecodeError, decode

    assert DecodeError is problemdetails.DecodeError
    with pytest.raises(DecodeError, match="not an error response"):
        decode(200, {}, b"")


def test_the_client_imports_without_the_server_side() -> None:
    """DESIGN.md: "the client must import without starlette, jinja2 or markdown-it"."""
    import subprocess
    import sys

    script = (
        "import sys, problemdetails.client, problemdetails; problemdetails.Catalog.load('catalog/'); "
        "server = ('starlette', 'jinja2', 'markdown_it', 'anyio', 'django', 'flask', 'grpc', 'google.protobuf'); "
        "print(sorted(m for m in server if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
    server = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, problemdetails; problemdetails.ProblemMiddleware; print('jinja2' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert server.strip() == "True"  # the control: the server side does import the site's


def test_unknown_attributes_are_attribute_errors() -> None:
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        problemdetails.Nope  # noqa: B018
