<?xml version="1.0" encoding="UTF-8"?>
<!-- Shows RSS and Atom feeds as a readable page in browsers that apply XSLT.
     Article HTML is shown as text (never disable-output-escaping): nothing from a feed runs. -->
<xsl:stylesheet version="1.0"
  xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
  xmlns:atom="http://www.w3.org/2005/Atom"
  exclude-result-prefixes="atom">
<xsl:output method="html" encoding="UTF-8" indent="yes" doctype-system="about:legacy-compat"/>
<xsl:template match="/">
<html lang="{{ site.language }}">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title><xsl:value-of select="rss/channel/title | atom:feed/atom:title"/> — {{ t.feeds }}</title>
<style>
body { margin: 0 auto; max-width: 42rem; padding: 1rem 1.25rem; font: 1.05rem/1.55 Georgia, "DejaVu Serif", serif; color: #1d1d1f; background: #fffefb; }
.note { font-family: system-ui, sans-serif; font-size: .95rem; background: #eef3fd; border-radius: .5rem; padding: .75rem 1rem; }
.item { border-top: 1px solid #e3e3e3; padding: .5rem 0; }
.item h2 { font-size: 1.2rem; margin: .5rem 0 .25rem; }
.date { color: #5f6368; font-family: system-ui, sans-serif; font-size: .85rem; }
a { color: #0b57d0; }
@media (prefers-color-scheme: dark) { body { color: #e8e6e3; background: #161616; } .note { background: #1f2a3d; } a { color: #8ab4f8; } }
</style>
</head>
<body>
<p class="note">{{ t.feed_explained }} <a href="{{ absolute('subscribe.html') }}">{{ t.subscribe }}</a></p>
<xsl:apply-templates select="rss/channel | atom:feed"/>
</body>
</html>
</xsl:template>

<xsl:template match="channel">
<h1><a href="{link}"><xsl:value-of select="title"/></a></h1>
<p><xsl:value-of select="description"/></p>
<xsl:for-each select="item">
<div class="item">
<h2><a href="{link}"><xsl:value-of select="title"/></a></h2>
<p class="date"><xsl:call-template name="long-date">
  <xsl:with-param name="day" select="number(substring(pubDate, 6, 2))"/>
  <xsl:with-param name="month" select="string-length(substring-before('JanFebMarAprMayJunJulAugSepOctNovDec', substring(pubDate, 9, 3))) div 3 + 1"/>
  <xsl:with-param name="year" select="substring(pubDate, 13, 4)"/>
</xsl:call-template></p>
<p><xsl:call-template name="html-as-text"><xsl:with-param name="html" select="description"/></xsl:call-template></p>
</div>
</xsl:for-each>
</xsl:template>

<xsl:template match="atom:feed">
<h1><a href="{atom:link[@rel='alternate']/@href}"><xsl:value-of select="atom:title"/></a></h1>
<p><xsl:value-of select="atom:subtitle"/></p>
<xsl:for-each select="atom:entry">
<div class="item">
<h2><a href="{atom:link[@rel='alternate']/@href}"><xsl:value-of select="atom:title"/></a></h2>
<p class="date"><xsl:call-template name="long-date">
  <xsl:with-param name="day" select="number(substring(atom:published, 9, 2))"/>
  <xsl:with-param name="month" select="number(substring(atom:published, 6, 2))"/>
  <xsl:with-param name="year" select="substring(atom:published, 1, 4)"/>
</xsl:call-template></p>
<p><xsl:call-template name="html-as-text"><xsl:with-param name="html" select="atom:summary"/></xsl:call-template></p>
</div>
</xsl:for-each>
</xsl:template>

<!-- A date in the page's language. XSLT 1.0 has no locale data: the build writes the
     language's month names (Babel, as the pages use) into this stylesheet. -->
{% set month_first, months = xsl_months %}
<xsl:template name="long-date">
<xsl:param name="day"/>
<xsl:param name="month"/>
<xsl:param name="year"/>
<xsl:variable name="name"><xsl:choose>
{% for _abbr, name in months %}
<xsl:when test="$month = {{ loop.index }}">{{ name }}</xsl:when>
{% endfor %}
</xsl:choose></xsl:variable>
{% if month_first %}
<xsl:value-of select="concat($name, ' ', $day, ', ', $year)"/>
{% else %}
<xsl:value-of select="concat($day, ' ', $name, ' ', $year)"/>
{% endif %}
</xsl:template>

<!-- A description / summary is escaped HTML of plain text. Undo markupsafe's escaping (< > " ' &)
     and print the result as text: the same in every XSLT engine (Firefox ignores
     disable-output-escaping), and markup from a feed can never run. -->
<xsl:template name="html-as-text">
<xsl:param name="html"/>
<xsl:variable name="lt"><xsl:call-template name="replace"><xsl:with-param name="text" select="$html"/><xsl:with-param name="from" select="'&amp;lt;'"/><xsl:with-param name="to" select="'&lt;'"/></xsl:call-template></xsl:variable>
<xsl:variable name="gt"><xsl:call-template name="replace"><xsl:with-param name="text" select="$lt"/><xsl:with-param name="from" select="'&amp;gt;'"/><xsl:with-param name="to" select="'&gt;'"/></xsl:call-template></xsl:variable>
<xsl:variable name="quot"><xsl:call-template name="replace"><xsl:with-param name="text" select="$gt"/><xsl:with-param name="from" select="'&amp;#34;'"/><xsl:with-param name="to" select="'&quot;'"/></xsl:call-template></xsl:variable>
<xsl:variable name="apos"><xsl:call-template name="replace"><xsl:with-param name="text" select="$quot"/><xsl:with-param name="from" select="'&amp;#39;'"/><xsl:with-param name="to">'</xsl:with-param></xsl:call-template></xsl:variable>
<xsl:call-template name="replace"><xsl:with-param name="text" select="$apos"/><xsl:with-param name="from" select="'&amp;amp;'"/><xsl:with-param name="to" select="'&amp;'"/></xsl:call-template>
</xsl:template>

<xsl:template name="replace">
<xsl:param name="text"/>
<xsl:param name="from"/>
<xsl:param name="to"/>
<xsl:choose>
<xsl:when test="contains($text, $from)"><xsl:value-of select="substring-before($text, $from)"/><xsl:value-of select="$to"/><xsl:call-template name="replace"><xsl:with-param name="text" select="substring-after($text, $from)"/><xsl:with-param name="from" select="$from"/><xsl:with-param name="to" select="$to"/></xsl:call-template></xsl:when>
<xsl:otherwise><xsl:value-of select="$text"/></xsl:otherwise>
</xsl:choose>
</xsl:template>
</xsl:stylesheet>
