"""Every benchmark in turn; each writes its JSON into bench/results/ (``make bench``)."""

from bench import deploy, serving

if __name__ == "__main__":
    serving.main()
    deploy.main()
