"""clinicflow sessions service: Treatment courses, monitored dosing sessions, integration scheduling and progress."""
