"""Page scripts run by Streamlit through dashboard/app.py (a package only so that installs ship them)."""
