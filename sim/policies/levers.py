"""Imports every lever module so that each registers itself (one module per lever)."""
from . import (branch_campus, capacity_investment, capitation, emergency_network, essential_drugs,  # noqa: F401
               family_doctor, hospital_capability, mobile_stations, referral_management, reimbursement, send_down,
               train_up, village_clinics)
