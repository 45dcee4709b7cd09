"""Build helpers run by make, outside the product's layers."""
