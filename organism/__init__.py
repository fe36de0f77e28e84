"""organism"""
