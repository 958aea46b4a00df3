"""Developer tools that are not part of the product: the layout checker, and (under peers/)
the local payment-provider peers that tests and `make run` talk to. Not an installed app,
and kept out of the Docker image by .dockerignore."""
