"""``--help`` in sections: a click command whose options are listed under headings (selection, model, ...).

Click prints every option in one "Options" list; a command with forty options
reads better grouped. :class:`SectionedCommand` takes ``sections``, an ordered
mapping of heading to option names (the parameter names, as in the function
signature); options not named in any section are listed last under "Other".
"""

from __future__ import annotations

import click


class SectionedCommand(click.Command):
    def __init__(self, *args, sections: dict[str, tuple[str, ...]] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.sections = sections or {}

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        records = {p.name: p.get_help_record(ctx) for p in self.get_params(ctx)}
        records = {name: record for name, record in records.items() if record}
        placed: set[str] = set()
        for heading, names in self.sections.items():
            rows = [records[n] for n in names if n in records]
            placed.update(names)
            if rows:
                with formatter.section(heading):
                    formatter.write_dl(rows)
        rest = [record for name, record in records.items() if name not in placed]
        if rest:
            with formatter.section("Other"):
                formatter.write_dl(rest)
