"""Fakes of outside services (the WhatsApp Cloud API) for tests and benchmarks."""
