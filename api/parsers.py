"""Request body parsing that answers 400, never 500, to hostile JSON."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class SafeJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:  # a body nested thousands of levels deep
            raise ParseError("JSON parse error - the body is nested too deeply.") from None
