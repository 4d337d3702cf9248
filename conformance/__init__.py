"""mpksa.conformance"""
