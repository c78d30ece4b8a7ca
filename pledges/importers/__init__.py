"""Reading backer reports (Kickstarter, Indiegogo, any CSV) into records, without the database."""
