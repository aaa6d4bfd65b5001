"""HTTP routes of the cart service."""

from fastapi import APIRouter

router = APIRouter(tags=["cart"])
