"""Interchange exports and imports: Camtrap DP 1.0.2, Darwin Core Archive, with sensitive-species protection."""
