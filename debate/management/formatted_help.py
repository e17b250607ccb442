"""A base for commands whose long description keeps its line breaks in --help."""

from __future__ import annotations

from argparse import RawDescriptionHelpFormatter

from django.core.management.base import BaseCommand, CommandParser, DjangoHelpFormatter


class _HelpFormatter(DjangoHelpFormatter, RawDescriptionHelpFormatter):
    """Django's option order, with the description's line breaks kept."""


class FormattedHelpCommand(BaseCommand):
    def create_parser(self, prog_name: str, subcommand: str, **kwargs) -> CommandParser:
        return super().create_parser(
            prog_name, subcommand, formatter_class=_HelpFormatter, **kwargs
        )
