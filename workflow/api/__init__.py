"""The REST API of applications (SPEC §9): thin views over workflow.services and workflow.selectors."""
