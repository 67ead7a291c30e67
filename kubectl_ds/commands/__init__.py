"""One module per subcommand: options -> source -> core -> render. No decisions here."""
