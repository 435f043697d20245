from rehab.cli import app

app()
