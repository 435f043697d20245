"""Therapist: pair a patient's home hub (a one-time code, valid 15 minutes) and revoke hubs.

The code is shown once, on this page, and stored only as a hash; the patient types it into
`rehab hub pair CODE --server URL` at home. Revoking a hub refuses its token from then on.
"""

import os

import streamlit as st

from dashboard import auth, components
from dashboard.state import get_store
from store import NotFoundError

#: The address hubs use to reach the clinic server (shown in the pairing instructions).
SERVER_URL_ENV = "REHAB_SERVER_URL"
CODE_KEY = "_rehab_new_enrolment_code"

store = get_store()
user = auth.require_user(store, "therapist")
st.title("Home hubs")
pid = components.patient_picker(store, user)
if pid is None:
    st.stop()
patient = store.get_user(pid)
server_url = os.environ.get(SERVER_URL_ENV) or "https://CLINIC-SERVER:8443"

st.subheader("Pair a hub")
st.write(f"Create a one-time code for {patient.display_name}. It works once, for 15 minutes.")
if st.button("Create pairing code", key="create_code", type="primary"):
    checked = auth.require_patient(store, user, pid)
    code = store.create_enrolment_code(checked, created_by=user.id)
    st.session_state[CODE_KEY] = (checked, code.code, code.expires_at)
shown = st.session_state.get(CODE_KEY)
if shown is not None and shown[0] == pid:
    _, code_text, expires_at = shown
    st.success(f"Pairing code: **{code_text}** — valid until {expires_at:%H:%M} UTC. It is shown only now.")
    st.code(f"rehab hub pair {code_text} --server {server_url}", language="bash")

st.subheader("Paired hubs")
devices = store.list_devices(pid)
if not devices:
    st.info("No hub is paired for this patient yet.")
for d in devices:
    with st.container(border=True):
        seen = f"{d.last_seen_at:%Y-%m-%d %H:%M} UTC" if d.last_seen_at else "never"
        state = "active" if d.active else f"revoked {d.revoked_at:%Y-%m-%d %H:%M} UTC"
        st.markdown(f"**{d.name}** · paired {d.created_at:%Y-%m-%d %H:%M} UTC · last seen {seen} · {state}")
        if d.active and st.button("Revoke", key=f"revoke_{d.id}"):
            try:
                device = store.get_device(d.id)
            except NotFoundError:
                auth.deny()
            auth.require_patient(store, user, device.patient_id)  # only a hub of one's own patient
            store.revoke_device(device.id, revoked_by=user.id)
            st.rerun()
