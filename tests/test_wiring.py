"""The wiring table: every LSP method and command it names reaches a feature that answers it."""

from __future__ import annotations

import inspect

import pytest

from switchboard.lsp.context import Feature
from switchboard.lsp.wiring import FEATURES, HANDLERS, feature_class


@pytest.mark.parametrize("handler", HANDLERS, ids=lambda handler: handler.method)
def test_each_handler_names_a_feature_method_that_is_sync_or_async_as_declared(handler):
    cls = feature_class(handler.feature)
    assert issubclass(cls, Feature)
    method = getattr(cls, handler.call)
    assert inspect.iscoroutinefunction(method) == handler.is_async


def test_each_method_is_answered_once():
    methods = [handler.method for handler in HANDLERS]
    assert len(methods) == len(set(methods))
    assert set(FEATURES) == {handler.feature for handler in HANDLERS}
