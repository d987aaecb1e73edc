"""Where aisbom meets other tools: the GitHub Action's scan step (`github_action`)."""
