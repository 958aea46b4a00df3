"""The project's URLs plus one page made of the shell's conventions at their widest: a
table with many columns and a long URL (tests/e2e/test_shell_phone.py)."""

from django.http import HttpResponse
from django.template import engines
from django.urls import path

from config.urls import urlpatterns as project_urlpatterns

WIDE_PAGE = """{% extends "base.html" %}
{% block content %}
<h1>Wide things</h1>
<div class="card">
  <p id="long-url">https://example.com/blog/a-very-long-post-title-that-goes-on-and-on-and-on/alice?utm_source=affiliate&amp;utm_medium=referral&amp;utm_campaign=spring</p>
  <p><code id="long-code">{{ code }}</code>
     <button type="button" class="copy" data-copy="{{ code }}" id="copy-code">Copy</button></p>
  <div class="table-wrap" id="wide-wrap"><table class="figures">
    <thead><tr>{% for c in cols %}<th class="num">Column {{ c }}</th>{% endfor %}</tr></thead>
    <tbody>{% for r in rows %}<tr>{% for c in cols %}<td class="num">USD 1,234,567.{{ c }}</td>{% endfor %}</tr>{% endfor %}</tbody>
  </table></div>
  <p class="empty">Nothing else yet: share your link to see figures here.</p>
</div>
{% endblock %}"""


def wide(request):
    template = engines["django"].from_string(WIDE_PAGE)
    context = {"cols": range(12), "rows": range(40), "code": "ALICE-" + "X" * 80}
    return HttpResponse(template.render(context, request))


urlpatterns = [path("shell-test/wide/", wide), *project_urlpatterns]
