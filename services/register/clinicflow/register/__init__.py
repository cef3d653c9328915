"""clinicflow register service: the controlled-drugs register, one page per product, every milligram accounted for."""
