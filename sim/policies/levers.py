"""Imports every lever module so that each registers itself (one module per lever)."""
from . import (branch_campus, capacity_investment, capitation, capitation_budget, emergency_network,  # noqa: F401
               essential_drugs, family_doctor, hospital_capability, mobile_stations, referral_management,
               reimbursement, send_down, train_up, village_clinics)
