module ctjournal

go 1.26
