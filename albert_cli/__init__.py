"""The ``albert`` command line and the tools it is made of: conversion between formats and parity checks.

A layer on top of the library: :mod:`albert_cli` imports :mod:`albert_core` freely and the backends (:mod:`albert_pt`,
:mod:`albert_tf`) only inside the commands that run models; nothing in the library imports :mod:`albert_cli`.

* :mod:`albert_cli.cli`: the ``albert`` commands (:func:`~albert_cli.cli.main`);
* :mod:`albert_cli.convert`: :func:`~albert_cli.convert.convert` and the checks of a state against its config;
* :mod:`albert_cli.parity`: probe inputs, runners and parity reports;
* :mod:`albert_cli.export_command`: ``albert export`` to ONNX, SavedModel and TFLite, with a parity check.
"""

from __future__ import annotations

from .cli import main

__all__ = ["main"]
