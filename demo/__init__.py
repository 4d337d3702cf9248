"""mpksa.demo"""
