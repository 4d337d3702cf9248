"""mpksa.vectors"""
