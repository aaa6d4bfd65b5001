"""HTTP routes of the orders service."""

from fastapi import APIRouter

router = APIRouter(tags=["orders"])
