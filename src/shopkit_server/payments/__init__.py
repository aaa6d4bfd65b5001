"""Payments: the provider interface (provider.py), one module per provider (stripe.py), and
the flow that applies payments to orders (service.py). Orders code never imports a provider."""
