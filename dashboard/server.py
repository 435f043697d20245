"""The dashboard as `streamlit run` serves it: the router (app.py) as an ``st.App`` plus the one
HTTP route a Streamlit script cannot provide — turning a sign-in into an HttpOnly session cookie
(dashboard/web_session.py). `dashboard.launch` runs this file; AppTest runs app.py directly."""

import streamlit as st

from dashboard import web_session

app = st.App("app.py", routes=web_session.routes())
