"""Words and numbers for people: formatting, languages, amounts in words, form values."""
