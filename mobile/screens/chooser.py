"""The desktop photo chooser with finger-sized rows (issue 14, D12: Kivy's list rows are 24 px at density 1)."""
from __future__ import annotations

from kivy.metrics import dp, sp
from kivy.uix.filechooser import FileChooserListView
from kivy.uix.label import Label

ROW = dp(56)  # >= 48dp, like every other touch target of the app


class TouchFileChooser(FileChooserListView):
    """FileChooserListView whose entries are 56dp high with 18sp names."""

    def _create_entry_widget(self, ctx):
        entry = super()._create_entry_widget(ctx)
        # The stock template fixes its height once ('48dp' if dp(1) > 1 else '24dp').
        entry.height = ROW
        for w in entry.walk(restrict=True):
            if isinstance(w, Label):
                w.font_size = sp(18)
        return entry
