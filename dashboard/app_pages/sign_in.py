"""Sign in with a local account (username + password, argon2-checked by the store)."""

import streamlit as st

from dashboard import auth
from dashboard.state import get_store

store = get_store()
st.title("Hip rehab — sign in")
with st.form("sign_in_form"):
    username = st.text_input("Username", key="sign_in_username")
    password = st.text_input("Password", type="password", key="sign_in_password")
    submitted = st.form_submit_button("Sign in", type="primary")
if submitted:
    try:
        user = auth.sign_in(store, username, password)
    except auth.SignInLockedError as exc:
        st.error(str(exc).capitalize() + ".")
    else:
        if user is None:
            st.error("Wrong username or password.")
        else:
            st.rerun()

if auth.oidc_enabled():
    st.divider()
    email = auth.oidc_email()
    if email is None:
        st.button("Sign in with your clinic account", on_click=st.login, key="oidc_login")
    else:
        st.warning(f"No active account for {email}. Ask an administrator to create one with that username.")
        st.button("Sign out of the clinic account", on_click=st.logout, key="oidc_logout")
