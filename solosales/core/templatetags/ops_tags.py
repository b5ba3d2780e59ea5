from django import template

from solosales.core import ops

register = template.Library()


@register.simple_tag(takes_context=True)
def ops_panels(context):
    """The ops dashboard panels the signed-in staff user may see."""
    request = context.get("request")
    return ops.panels_for(request) if request is not None else []
