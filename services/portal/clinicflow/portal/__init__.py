"""The staff portal: every person in the clinic does their part of the pathway in a browser."""
