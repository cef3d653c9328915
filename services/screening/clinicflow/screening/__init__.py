"""clinicflow screening service: Screening cases, validated measures, contraindications and the doctor's sign-off."""
