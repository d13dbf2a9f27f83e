"""Built-in region plugins. Each folder is one county's room (see CODEOWNERS)."""
