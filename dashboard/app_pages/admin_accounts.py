"""Admin: create accounts (patients, therapists, admins), assign patients to therapists, deactivate."""

import pandas as pd
import streamlit as st

from dashboard import auth, wording
from dashboard.state import get_store
from store import StoreError

store = get_store()
user = auth.require_user(store, "admin")
st.title("Accounts")
therapists = {t.id: f"{t.display_name} ({t.username})" for t in store.list_users(role="therapist")}

with st.form("new_account", clear_on_submit=True):
    st.subheader("Create an account")
    c = st.columns(2)
    username = c[0].text_input("Username", key="new_username")
    display_name = c[1].text_input("Display name", key="new_display_name")
    role = c[0].selectbox("Role", auth.ROLES, key="new_role")
    therapist = c[1].selectbox(
        "Therapist (patients only)", [None, *therapists], key="new_therapist",
        format_func=lambda i: "—" if i is None else therapists[i],
    )  # fmt: skip
    password = st.text_input("Initial password (at least 8 characters)", type="password", key="new_password")
    if st.form_submit_button("Create", type="primary"):
        if role == "patient" and therapist is not None and therapist not in therapists:
            auth.deny()
        try:
            created = store.create_user(
                username.strip(), password, role=role, display_name=display_name.strip() or None,
                therapist_id=therapist if role == "patient" else None,
            )  # fmt: skip
        except StoreError as exc:
            st.error(str(exc))
        else:
            st.success(f"Created {created.role} {created.username!r}.")

users = store.list_users()
st.subheader(f"All accounts ({len(users)})")
st.dataframe(
    pd.DataFrame(
        [
            {
                "id": u.id,
                "username": u.username,
                "display_name": u.display_name,
                "role": u.role,
                "therapist": therapists.get(u.therapist_id, "") if u.therapist_id else "",
                "active": u.active,
                "created": wording.when(u.created_at),
            }
            for u in users
        ]
    ),
    hide_index=True,
    key="accounts_table",
)
others = {u.id: f"{u.display_name} ({u.username}, {u.role}{'' if u.active else ', inactive'})" for u in users if u.id != user.id}
if others:
    with st.form("toggle_account"):
        st.subheader("Activate / deactivate")
        target = st.selectbox("Account", list(others), format_func=lambda i: others.get(i, str(i)), key="toggle_user")
        make_active = st.checkbox("Active", value=True, key="toggle_active")
        if st.form_submit_button("Apply"):
            if target not in others:
                auth.deny()
            store.update_user(int(target), active=bool(make_active))
            st.success("Updated.")
